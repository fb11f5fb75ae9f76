"""Platforms: names and buildx's normalization, this machine's platform (``names``); which platforms
need QEMU and the binfmt_misc handlers (``emulation``); ELF headers (``elf``)."""
