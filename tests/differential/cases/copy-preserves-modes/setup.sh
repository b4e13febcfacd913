# Runs in the materialised context (sh -eu).
chmod 0600 private
chmod 0750 script.sh
chmod 0700 locked
chmod 4755 setuid
chmod 1777 sticky
mkdir -p empty
chmod 0711 empty
