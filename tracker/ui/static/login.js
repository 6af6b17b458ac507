// The login form posts the token back to the page that asked for it.
const next = document.getElementById("next");
if (next && location.pathname !== "/login") next.value = location.pathname + location.search;
