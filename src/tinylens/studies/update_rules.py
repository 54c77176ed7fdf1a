"""Moved to :mod:`tinylens.studies.optimizers.rules`; this name stays importable."""

from tinylens.studies.optimizers.rules import RULE_NAMES, update_rule_text, update_rules_mathml

__all__ = ["RULE_NAMES", "update_rule_text", "update_rules_mathml"]
