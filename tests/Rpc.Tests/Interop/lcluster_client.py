"""grpcio client for the src/Rpc interop test: one case per run, one JSON object on stdout.

Usage: /usr/bin/python3 lcluster_client.py HOST:PORT CASE   (stubs on PYTHONPATH)
"""
import json
import sys
import time

import grpc

import lcluster_pb2 as pb
import lcluster_pb2_grpc as pb_grpc


def unary(stub):
    response = stub.AddJob(pb.AddJobRequest(
        command="echo 'héllo' && exit 3", name="ジョブ ✓", env={"LANG": "C.UTF-8", "K": "v=1"},
        stdin=bytes(range(256)), limits=pb.Limits(memory_bytes=64 << 20, cpus=0.5), retries=2, priority=-7),
        timeout=30)
    return {"id": response.id}


def stream(stub):
    chunks = [chunk.data.hex() for chunk in stub.GetOutput(
        pb.GetOutputRequest(id="job-1", stream=pb.OUTPUT_STREAM_STDERR, follow=True), timeout=30)]
    return {"chunks": chunks}


def error(stub):
    try:
        stub.CheckJob(pb.CheckJobRequest(id="nope"), timeout=30)
        return {"error": None}
    except grpc.RpcError as e:
        return {"code": e.code().name, "details": e.details()}


def deadline(stub):
    start = time.monotonic()
    try:
        stub.ListJobs(pb.ListJobsRequest(limit=5), timeout=0.5)
        return {"error": None}
    except grpc.RpcError as e:
        return {"code": e.code().name, "details": e.details(), "seconds": time.monotonic() - start}


def main():
    address, case = sys.argv[1], sys.argv[2]
    with grpc.insecure_channel(address) as channel:
        stub = pb_grpc.LclusterdStub(channel)
        result = {"unary": unary, "stream": stream, "error": error, "deadline": deadline}[case](stub)
    print(json.dumps(result, ensure_ascii=True))


if __name__ == "__main__":
    main()
