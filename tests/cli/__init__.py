"""Tests of mcpctl.cli (a package so its module names do not clash with other test folders)."""
