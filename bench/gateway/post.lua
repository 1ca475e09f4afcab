-- wrk script for bench/gateway/run.sh: every request is a small JSON POST.
-- Usage: wrk -t2 -c64 -d20s -s bench/gateway/post.lua http://127.0.0.1:9181/
wrk.method = "POST"
wrk.body   = '{"input":"hello"}'
wrk.headers["Content-Type"] = "application/json"
