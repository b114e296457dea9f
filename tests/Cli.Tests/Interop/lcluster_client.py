"""grpcio client for the interop test: a gRPC implementation we did not write, calling a real lclusterd.

Usage: /usr/bin/python3 lcluster_client.py HOST:PORT CASE [ARG]   (stubs on PYTHONPATH)
Prints one JSON object on stdout.
"""
import json
import sys
import time

import grpc
from google.protobuf import descriptor_pb2

import lcluster_pb2 as pb
import lcluster_pb2_grpc as pb_grpc
import health_pb2
import health_pb2_grpc
import reflection_pb2
import reflection_pb2_grpc

FINISHED = {pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED, pb.JOB_STATE_LOST}


def submit(channel, _):
    response = pb_grpc.LclusterdStub(channel).AddJob(pb.AddJobRequest(
        command="cat; printf '%s|%s' \"$K\" \"$LANG\"; exit 3", name="ジョブ ✓", env={"LANG": "C.UTF-8", "K": "v=1 é"},
        stdin=bytes(range(256)), limits=pb.Limits(memory_bytes=64 << 20, cpus=0.5), retries=2, priority=-7),
        timeout=30)
    return {"id": response.id}


def finish(channel, job_id):
    stub = pb_grpc.LclusterdStub(channel)
    deadline = time.monotonic() + 60
    while True:
        job = stub.CheckJob(pb.CheckJobRequest(id=job_id), timeout=30)
        if job.state in FINISHED or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return {"state": pb.JobState.Name(job.state), "exit_code": job.exit_code.value if job.HasField("exit_code") else None,
            "name": job.name, "env": dict(job.env), "memory": job.limits.memory_bytes, "retries": job.retries,
            "priority": job.priority}


def output(channel, job_id):
    chunks = pb_grpc.LclusterdStub(channel).GetOutput(pb.GetOutputRequest(id=job_id, stream=pb.OUTPUT_STREAM_STDOUT, follow=True), timeout=60)
    return {"stdout": b"".join(chunk.data for chunk in chunks).hex()}


def error(channel, _):
    try:
        pb_grpc.LclusterdStub(channel).CheckJob(pb.CheckJobRequest(id="ジョブ"), timeout=30)
        return {"error": None}
    except grpc.RpcError as e:
        return {"code": e.code().name, "details": e.details()}


def deadline(channel, job_id):
    start = time.monotonic()
    try:
        for _ in pb_grpc.LclusterdStub(channel).GetOutput(pb.GetOutputRequest(id=job_id, follow=True), timeout=0.5):
            pass
        return {"error": None}
    except grpc.RpcError as e:
        return {"code": e.code().name, "seconds": time.monotonic() - start}


def reflection(channel, _):
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    requests = [reflection_pb2.ServerReflectionRequest(list_services=""),
                reflection_pb2.ServerReflectionRequest(file_containing_symbol="lcluster.v1.Lclusterd")]
    answers = list(stub.ServerReflectionInfo(iter(requests), timeout=30))
    services = [s.name for s in answers[0].list_services_response.service]
    methods = []
    for raw in answers[1].file_descriptor_response.file_descriptor_proto:
        descriptor = descriptor_pb2.FileDescriptorProto.FromString(raw)
        for service in descriptor.service:
            if f"{descriptor.package}.{service.name}" == "lcluster.v1.Lclusterd":
                methods += [m.name for m in service.method]
    return {"services": sorted(services), "methods": sorted(methods)}


def health(channel, _):
    stub = health_pb2_grpc.HealthStub(channel)
    statuses = {}
    for service in ["", "lcluster.v1.Lclusterd"]:
        status = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=30).status
        statuses[service or "(server)"] = health_pb2.HealthCheckResponse.ServingStatus.Name(status)
    return statuses


CASES = {"submit": submit, "finish": finish, "output": output, "error": error, "deadline": deadline,
         "reflection": reflection, "health": health}


def main():
    address, case = sys.argv[1], sys.argv[2]
    argument = sys.argv[3] if len(sys.argv) > 3 else None
    with grpc.insecure_channel(address) as channel:
        result = CASES[case](channel, argument)
    print(json.dumps(result, ensure_ascii=True))


if __name__ == "__main__":
    main()
