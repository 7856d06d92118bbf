import sys
from pathlib import Path

# Let the planner tests import their shared helpers module (no package __init__ files).
sys.path.insert(0, str(Path(__file__).parent))
