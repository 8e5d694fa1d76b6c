"""Plain Python state per feature; views render it and tests drive it without a screen."""
