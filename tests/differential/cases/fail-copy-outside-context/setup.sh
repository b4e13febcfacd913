# Runs in the materialised context (sh -eu).
# A file beside the context: a builder that let ../ escape would find it.
echo outside > ../outside.txt
