"""The Dockerfile language: parser, word expansion, .dockerignore, typed instructions."""
