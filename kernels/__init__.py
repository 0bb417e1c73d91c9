"""minigrad.kernels: standalone Triton kernels with NumPy references.

Arrays in, arrays out; nothing here imports the autograd engine.

* On a GPU, pass CuPy arrays: kernels are compiled by Triton for your device.
* On a CPU, set ``TRITON_INTERPRET=1`` *before triton is first imported* (in the
  shell, or ``os.environ`` at the top of the script before ``import
  minigrad.kernels``) and pass NumPy arrays: Triton's interpreter runs every program
  instance with NumPy.  Slow, but it runs the *same kernel source*, so you can
  put ``print`` calls in a kernel and step through it in a debugger.
* ``minigrad.kernels.use("triton" | "reference" | "auto")`` chooses what the
  autograd engine runs for matmul, softmax and attention (see ``_mode.py``).
* ``MINIGRAD_DEBUG=kernels`` prints every launch (grid, shapes, dtypes, config).
* On a GPU, Triton takes the device and the stream from PyTorch: install CuPy,
  Triton *and* torch with CUDA (``GPU_INSTALL_HINT``); ``device_launch_problem()``
  says why kernels cannot launch here (None when they can). CuPy arrays never run
  in the interpreter.

Triton is optional: without it this package still imports and the ``*_reference``
NumPy functions work; the launchers raise ImportError with the install command.

Files: ``_launch.py`` (array adapter, config choice), ``matmul.py``,
``softmax.py``, ``attention.py`` (one kernel family each, with its NumPy
reference) and ``compile.py`` (offline compilation to PTX for sm_80/sm_90).
"""

from ._launch import (
    GPU_INSTALL_HINT,
    BFloat16Array,
    available,
    cupy_gpu_available,
    device_launch_problem,
    interpret_mode,
    interpreter_numpy_problem,
    to_bfloat16,
)
from ._mode import mode, use
from .attention import (
    attention,
    attention_backward,
    attention_backward_reference,
    attention_reference,
)
from .matmul import gelu_tanh_reference, matmul, matmul_reference
from .softmax import (
    log_softmax,
    log_softmax_backward,
    log_softmax_backward_reference,
    log_softmax_reference,
    softmax,
    softmax_backward,
    softmax_backward_reference,
    softmax_reference,
)

__all__ = [
    "GPU_INSTALL_HINT",
    "BFloat16Array",
    "attention",
    "attention_backward",
    "attention_backward_reference",
    "attention_reference",
    "available",
    "cupy_gpu_available",
    "device_launch_problem",
    "gelu_tanh_reference",
    "interpret_mode",
    "interpreter_numpy_problem",
    "log_softmax",
    "log_softmax_backward",
    "log_softmax_backward_reference",
    "log_softmax_reference",
    "matmul",
    "mode",
    "matmul_reference",
    "softmax",
    "softmax_backward",
    "softmax_backward_reference",
    "softmax_reference",
    "to_bfloat16",
    "use",
]
