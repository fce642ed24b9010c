from rest_framework_simplejwt.serializers import PasswordField, TokenObtainPairSerializer


class TokenObtainSerializer(TokenObtainPairSerializer):
    """simplejwt's serializer, with the password taken exactly as sent (its default trims spaces)."""

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["password"] = PasswordField(trim_whitespace=False)
