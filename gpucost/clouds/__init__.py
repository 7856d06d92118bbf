"""Cloud SDK helpers shared by the provider adapters and the launcher backends.

Each module imports its SDK inside functions only.
"""
