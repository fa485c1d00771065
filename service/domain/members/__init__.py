"""Members: status and access, comps, the reader's account and sign-in, erasure, import and export."""
