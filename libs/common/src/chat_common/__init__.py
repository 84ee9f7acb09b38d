"""Code the chat services share. Nothing service-specific belongs here."""
