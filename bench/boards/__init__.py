"""Where a case can run: board profiles and their schema (`profiles`, `schema`), CPU lists (`cpus`),
core types from MIDR (`cores`), what a board is (`topology`) and how it is read from the board
(`probe`: `reach`, the one way to reach a board), how commands and files get there (`transport`),
preparing a board for measuring (`prepare`) and emulated full-system boards (`vm`, `vm_image`).
Imports only the base modules."""
