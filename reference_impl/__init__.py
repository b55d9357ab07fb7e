"""Tested reference PyTorch implementations of the classic papers, one self-contained file each."""
