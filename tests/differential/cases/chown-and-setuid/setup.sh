# Runs in the materialised context (sh -eu).
chmod 4755 setuid
