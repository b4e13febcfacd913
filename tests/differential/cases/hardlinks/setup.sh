# Runs in the materialised context (sh -eu).
ln dir/original dir/linked
