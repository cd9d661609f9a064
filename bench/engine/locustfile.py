# Locust's fastest user class, for the throughput comparison in run.sh:
# each user fetches "/" in a loop with no wait, one keep-alive connection
# per user, the same work as loop.star.
from locust import FastHttpUser, task, constant


class Looper(FastHttpUser):
    wait_time = constant(0)

    @task
    def home(self):
        self.client.get("/")
