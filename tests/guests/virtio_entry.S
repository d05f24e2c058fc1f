# virtio_entry.S - the PVH entry of the C virtio guest (virtio.c): the shared runtime, whose pvh_start calls main.
        .include "pvh.inc"
