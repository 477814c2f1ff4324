"""TestRail side: the API v2 client and the catalog that reads its ids as names."""

from core.testrail.catalog import CaseField, TestRailCatalog, parse_items
from core.testrail.client import TestRailClient

__all__ = ["CaseField", "TestRailCatalog", "TestRailClient", "parse_items"]
