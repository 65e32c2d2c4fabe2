"""Tests of the documentation: every page's examples run as written."""
