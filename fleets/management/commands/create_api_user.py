from django.core.management.base import BaseCommand, CommandError

from fleets.services import api_user_create


class Command(BaseCommand):
    help = "Create an API user in a fleet (creating the fleet if needed), or reset the user's password."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("username")
        parser.add_argument("--fleet", required=True, help="Fleet name; created if it does not exist.")
        parser.add_argument("--password", required=True)

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        username = options["username"].strip()
        if not username or not options["password"] or not options["fleet"].strip():
            raise CommandError("username, --fleet and --password must not be empty")
        result = api_user_create(username=username, fleet_name=options["fleet"].strip(), password=options["password"])
        verb = "Created" if result.user_created else "Updated"
        fleet_note = " (new fleet)" if result.fleet_created else ""
        self.stdout.write(
            self.style.SUCCESS(f"{verb} user {result.user.username} in fleet {result.fleet.name}{fleet_note}")
        )
