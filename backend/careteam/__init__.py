"""Care teams, family proxy grants and emergency access: who may open which patient's record."""
