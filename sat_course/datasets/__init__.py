"""Datasets of the course, each yielding :class:`sat_course.records.CaptionedImage` records."""
