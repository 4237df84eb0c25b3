"""The base layer: configuration, database, clock, i18n, errors, the input policy and the Flask
glue every web adapter shares. It imports nothing else of ours."""
