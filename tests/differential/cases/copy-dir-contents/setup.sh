# Runs in the materialised context (sh -eu).
mkdir dir/empty
