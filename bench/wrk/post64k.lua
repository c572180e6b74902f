-- wrk script: every request is a POST with a 64 KiB body.
-- The upstream answers the body's length, so a short read shows up as a wrong body.
wrk.method = "POST"
wrk.body = string.rep("x", 64 * 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
