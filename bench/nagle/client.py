# REQUESTS sequential GETs on one kept-alive connection to 127.0.0.1:PORT; prints "p50 p90 max" in ms.
import http.client
import sys
import time

port, requests = int(sys.argv[1]), int(sys.argv[2])
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
times = []
for i in range(requests):
    start = time.perf_counter()
    connection.request("GET", "/r%d" % i)
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        sys.exit("request %d: status %d" % (i, response.status))
    times.append((time.perf_counter() - start) * 1000)
times.sort()
print("%.2f %.2f %.2f" % (times[len(times) // 2], times[len(times) * 9 // 10], times[-1]))
