"""The web app (`newsvault serve`): the static site, search, stories, URL submission, JSON API."""
