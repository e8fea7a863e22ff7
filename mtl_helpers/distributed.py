"""Devices for data-parallel training on one machine (chapter 10).

``tf.distribute.MirroredStrategy`` needs several devices. A CPU-only machine
has one, but TensorFlow can split it into *logical* devices before it starts
using it: :func:`split_cpu` does that, so the book's distributed code runs
(and is tested) on a laptop. It proves correctness, not speed: the logical
devices share the same cores.
"""

from __future__ import annotations

from mtl_helpers._tensorflow import tf
from mtl_helpers._validation import positive_int

__all__ = ["split_cpu"]


def split_cpu(n_devices: int) -> list[str]:
    """Split the first CPU into ``n_devices`` logical devices and return their names.

    Must run before TensorFlow first uses a device (before any tensor is
    created): in a notebook, in the first cell after the imports. Calling it
    again with the same number is harmless.

    Parameters
    ----------
    n_devices : int
        How many logical CPU devices to make (>= 1).

    Returns
    -------
    list of str
        ``["/device:CPU:0", "/device:CPU:1", ...]``, for ``MirroredStrategy(devices)``.
    """
    n_devices = positive_int(n_devices, name="n_devices")
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is None or len(current) != n_devices:
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n_devices)
        except RuntimeError:
            have = len(tf.config.list_logical_devices("CPU"))
            if have == n_devices:  # already started, with the split asked for
                return [device.name for device in tf.config.list_logical_devices("CPU")]
            raise RuntimeError(
                f"TensorFlow has already started with {have} CPU device(s); split_cpu({n_devices}) must run "
                "before any tensor is created. Restart the kernel and call it first."
            ) from None
    return [device.name for device in tf.config.list_logical_devices("CPU")]
