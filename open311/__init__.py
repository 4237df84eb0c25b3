"""Open311 GeoReport v2 (``/open311/v2/``): other city systems and apps file and read service
requests through the open standard. An adapter: it translates; the rules stay in the domains."""
