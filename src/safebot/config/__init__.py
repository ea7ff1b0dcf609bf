"""Loading YAML configuration into pydantic models with errors that name file, line and field."""

from safebot.config.yaml_models import load_yaml_model, parse_yaml_model, read_yaml

__all__ = ["load_yaml_model", "parse_yaml_model", "read_yaml"]
