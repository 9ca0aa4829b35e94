"""choria-emulator: emulated Choria/MCollective networks of tens of thousands of nodes."""

__version__ = "0.1.0"
