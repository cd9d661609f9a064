import random
from locust import HttpUser, task, between

class Browser(HttpUser):
    wait_time = between(0.05, 0.2)

    @task(5)
    def home(self):
        self.client.get("/")

    @task(3)
    def products(self):
        self.client.get("/api/products?page=%d" % random.randint(1, 12), name="/api/products?page=[n]")

    @task(1)
    def missing(self):
        self.client.get("/no-such-page")

    @task(1)
    def post(self):
        self.client.post("/api/login", json={"username": "a", "password": "wrong"})

    @task(1)
    def boom(self):
        if random.random() < 0.3:
            raise ValueError("script bug on purpose")
        self.client.get("/api/products/1", name="/api/products/[id]")
