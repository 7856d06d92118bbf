"""The AWS provider adapter: EC2 GPU instance types, on-demand and spot prices, quotas.

Modules: ``specs`` (instance types and offerings), ``pricing`` (Price List Query API),
``spot`` (spot price history), ``quotas`` (Service Quotas), ``clients`` (boto3 clients,
credentials, error reasons) and ``provider`` (the orchestration). boto3 is imported
lazily, inside functions.
"""

from gpucost.providers.aws.provider import AwsProvider

__all__ = ["AwsProvider"]
