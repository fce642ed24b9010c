"""OpenAPI schemas of the strict number fields, with the contract's bounds (drf-spectacular extensions)."""

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension


class StrictNumberFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "diagnostics.serializers.StrictNumberField"

    def map_serializer_field(self, auto_schema, direction):  # type: ignore[no-untyped-def]
        bounds = self.target.bounds
        schema: dict[str, Any] = {"type": "integer" if bounds.integer else "number", "minimum": bounds.minimum}
        if bounds.exclusive_minimum:
            schema["exclusiveMinimum"] = True  # OpenAPI 3.0: a flag on minimum
        schema["maximum"] = bounds.maximum
        return schema
