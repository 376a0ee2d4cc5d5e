"""Serializer helpers shared by the apps' APIs."""

from __future__ import annotations

from rest_framework import serializers

# Fields whose API form is the value itself, as PostgreSQL's JSON also renders it (text,
# numbers, booleans, JSON). Dates and decimals are not: their API text differs.
JSON_NATIVE_FIELDS = (
    serializers.BooleanField,
    serializers.CharField,
    serializers.ChoiceField,
    serializers.IntegerField,
    serializers.JSONField,
    serializers.UUIDField,
)


class ListedSummarySerializer(serializers.ModelSerializer):
    """A nested summary that lists read as a JSON object of exactly its fields, built in
    the page query (`JSONObject`): that object is already in API form and is returned as
    it is; a model instance (a row read alone) is serialized as usual.

    Only fields of JSON-native types may be listed, which the first use checks."""

    def to_representation(self, instance):
        if isinstance(instance, dict):
            self._check_json_native()
            return instance
        return super().to_representation(instance)

    def _check_json_native(self) -> None:
        cls = type(self)
        if "_json_native" in cls.__dict__:
            return
        others = [
            name for name, field in self.fields.items() if not isinstance(field, JSON_NATIVE_FIELDS)
        ]
        if others:
            raise TypeError(f"{cls.__name__} cannot pass JSON through, for {others}")
        cls._json_native = True
