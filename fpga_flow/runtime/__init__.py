"""CPU / rtlsim / PYNQ benchmark."""
