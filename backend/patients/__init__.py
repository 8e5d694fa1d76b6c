"""Patient records: demographics and the conditions their care is about."""
