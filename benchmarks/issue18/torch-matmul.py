# PyTorch's sgemm (Debian python3-torch, OpenBLAS) at the bench step model's product shapes and the kernels suite's
# large shape: GFLOP/s, median of 31 calls on hot operands, with the thread count the bench's torch peer gives
# torch:N (torch.set_num_threads and OPENBLAS/OMP/MKL_NUM_THREADS = N; without the environment variables OpenBLAS
# starts its own threads, one per core, whatever torch.set_num_threads says). Prints CPU time / wall time as a check.
# Usage: for n in 1 2; do OPENBLAS_NUM_THREADS=$n OMP_NUM_THREADS=$n MKL_NUM_THREADS=$n /usr/bin/python3 \
#          benchmarks/issue18/torch-matmul.py $n; done
import statistics, sys, time
import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
torch.set_num_threads(threads)
torch.manual_seed(0)
shapes = [('NN', 4096, 256, 1024), ('TN', 1024, 1024, 128), ('NN', 1024, 1024, 128), ('NT', 1024, 128, 1024),
          ('NT', 1024, 128, 256), ('NN', 1024, 256, 128), ('TN', 256, 1024, 128), ('TN', 128, 1024, 256)]
for lay, m, k, n in shapes:
    a = torch.randn(k, m) if lay == 'TN' else torch.randn(m, k)
    b = torch.randn(n, k) if lay == 'NT' else torch.randn(k, n)
    f = (lambda: a.t() @ b) if lay == 'TN' else (lambda: a @ b.t()) if lay == 'NT' else (lambda: a @ b)
    for _ in range(3):
        f()
    ts = []
    c0 = time.process_time()
    for _ in range(31):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    cpu = time.process_time() - c0
    print(f'torch {torch.__version__}, {threads} thread(s), {lay} {m}×{k}×{n}: '
          f'{2 * m * k * n / statistics.median(ts) / 1e9:.1f} GFLOP/s (CPU/wall {cpu / sum(ts):.2f})')
