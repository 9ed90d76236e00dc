"""Routes of the technicians' desk, under /teknik/: the work-order pages (`desk_urls`) and the
inspection pages (`plan_urls`). Every route has an entry in the access-table tests."""

from lyfta.workorders import desk_urls, plan_urls

app_name = "workorders"

urlpatterns = [*desk_urls.urlpatterns, *plan_urls.urlpatterns]
