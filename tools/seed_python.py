#!/usr/bin/python3
"""The seed preset in pure Python, as the PyCon 2013 tutorial computed it, for `hetero compare
--python`: the same grid (steps built by repeated addition), the same contract (0-based escape
iteration of |z|^2 > 4 after the update, max_iter if none, no fused operations). Prints one JSON
line: the grid's size, the sum of the counts and the seconds the loops took."""
import json, sys, time
def main():
    x1, x2, y1, y2 = -2.13, 0.77, -1.3, 1.3
    w = 1000
    x_step = (float(x2 - x1) / float(w)) * 2
    y_step = (float(y1 - y2) / float(w)) * 2
    xs = []; ys = []
    xx = x1
    while xx < x2:
        xs.append(xx); xx += x_step
    yy = y2
    while yy > y1:
        ys.append(yy); yy += y_step
    max_iter = 1000
    total = 0
    start = time.perf_counter()
    for cy in ys:
        for cx in xs:
            x = 0.0; y = 0.0; count = max_iter
            for i in range(max_iter):
                nx = (x * x - y * y) + cx
                ny = (2 * x) * y + cy
                x = nx; y = ny
                if x * x + y * y > 4:
                    count = i; break
            total += count
    print(json.dumps({"width": len(xs), "height": len(ys), "sum": total, "seconds": time.perf_counter() - start}))
main()
