"""Local renderers: a template plus resolved assets in, a media file plus a log out."""
