"""Who is who: departments, categories, staff and citizens, and who may do what (``access``)."""
