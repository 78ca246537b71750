"""Tests of mcpctl.reconciler (a package so its module names do not clash with tests/cli)."""
