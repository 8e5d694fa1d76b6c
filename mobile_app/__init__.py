"""The CareCircle client: a Flet 1.0 app for patients, their families and their care teams."""
