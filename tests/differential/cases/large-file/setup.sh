# Runs in the materialised context (sh -eu).
python3 -c "import sys; sys.stdout.buffer.write(bytes(range(256)) * 40000)" > big.bin
