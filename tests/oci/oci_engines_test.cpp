// engines test (ctr, podman) - filled in below
