"""OpenAPI schemas of the strict number fields, with their bounds (drf-spectacular extensions)."""

from drf_spectacular.extensions import OpenApiSerializerFieldExtension


class StrictNumberFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "diagnostics.serializers.StrictNumberField"

    def map_serializer_field(self, auto_schema, direction):  # type: ignore[no-untyped-def]
        field = self.target
        # OpenAPI 3.0: exclusiveMinimum is a flag on minimum.
        bound = {"minimum": field.minimum, **({"exclusiveMinimum": True} if field.exclusive_minimum else {})}
        return {"type": "number", **bound, "maximum": field.maximum}


class StrictIntegerFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "diagnostics.serializers.StrictIntegerField"

    def map_serializer_field(self, auto_schema, direction):  # type: ignore[no-untyped-def]
        return {"type": "integer", "minimum": self.target.minimum, "maximum": self.target.maximum}
