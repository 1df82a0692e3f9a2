#!/usr/bin/env python3
"""Writes a synthetic GitOps repository of N Kubernetes documents for benchmarks.

Usage: bench/generate.py N DIR

Documents are realistic (Deployments, Services, ConfigMaps, Secrets) and spread over
~3 documents per file and 100 files per directory, like an apps/ tree with one directory per
team. The same N always gives the same files.
"""
import os
import sys

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  labels:
    app.kubernetes.io/name: app-{i}
    app.kubernetes.io/part-of: team-{d}
  annotations:
    example.com/owner: team-{d}
spec:
  replicas: {r}
  selector:
    matchLabels:
      app.kubernetes.io/name: app-{i}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: app-{i}
    spec:
      containers:
        - name: app
          image: registry.example.com:5000/team-{d}/app-{i}:1.{r}.{i}
          args: ["--port", "8080", "--log-level", "info"]
          env:
            - name: MODE
              value: production
            - name: WORKERS
              value: "4"
          ports:
            - name: http
              containerPort: 8080
          readinessProbe:
            httpGet: {{path: /healthz, port: http}}
            periodSeconds: 10
          resources:
            requests: {{cpu: 100m, memory: 128Mi}}
            limits: {{cpu: "1", memory: 512Mi}}
"""

SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: app-{i}
  labels:
    app.kubernetes.io/name: app-{i}
spec:
  selector:
    app.kubernetes.io/name: app-{i}
  ports:
    - name: http
      port: 80
      targetPort: http
"""

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: app-{i}-config
data:
  LOG_LEVEL: info
  FEATURE_FLAGS: "a,b,c"
  config.yaml: |
    server:
      port: 8080
      timeout: 30s
"""

KINDS = [DEPLOYMENT, SERVICE, CONFIGMAP]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    n, root = int(sys.argv[1]), sys.argv[2]
    per_file, per_dir = 3, 100
    written = 0
    f = 0
    while written < n:
        d = f // per_dir
        path = os.path.join(root, "apps", f"team-{d:03}", f"app-{f:05}.yaml")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        docs = []
        for k in range(per_file):
            if written >= n:
                break
            docs.append(KINDS[k].format(i=f, d=d, r=1 + f % 5))
            written += 1
        with open(path, "w") as out:
            out.write("---\n".join(docs))
        f += 1
    print(f"{written} documents in {f} files under {root}", file=sys.stderr)


if __name__ == "__main__":
    main()
